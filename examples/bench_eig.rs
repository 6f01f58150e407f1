use faer::linalg::solvers::DenseSolveCore;
use faer::prelude::*;
use motif::model::linalg::*;
use std::time::Instant;
fn main() {
    let n = 200;
    let a = Mat::<f64>::from_fn(n, n, |i, j| {
        (((i * 7919 + j * 104729) % 1000) as f64 / 1000.0 - 0.5) * 0.2
            - if i == j { 1.0 } else { 0.0 }
    });
    let id = Mat::<f64>::identity(n, n);
    for _ in 0..3 {
        let t = Instant::now();
        let _ = lyapunov_sign(a.as_ref(), id.as_ref(), Some(id.as_ref())).unwrap();
        println!("sign lyap pair {:?}", t.elapsed());
    }
    let inv = a.partial_piv_lu().inverse();
    let t = Instant::now();
    for _ in 0..5 {
        let _ = &inv * &a * inv.transpose();
    }
    println!("2 matmul w/ transpose {:?}", t.elapsed() / 5);
    let t = Instant::now();
    for _ in 0..5 {
        let _ = (&a * Scale(0.3) + &inv * Scale(0.2)) * Scale(0.5);
    }
    println!("axpy {:?}", t.elapsed() / 5);
    let t = Instant::now();
    for _ in 0..5 {
        let _ = a.partial_piv_lu();
    }
    println!("lu {:?}", t.elapsed() / 5);
    let t = Instant::now();
    for _ in 0..5 {
        let _ = a.partial_piv_lu().inverse();
    }
    println!("lu inverse {:?}", t.elapsed() / 5);
}
