//! Adam with global-norm gradient clipping over a fixed list of parameter slices.

use num_traits::Float;

/// One optimiser for every fit: the network's BPTT training in f32
/// (`train/trainer.rs`) and the preparatory loop's in f64 (`model/prep.rs`).
#[derive(Debug, Clone)]
pub struct Adam<T> {
    beta1: T,
    beta2: T,
    eps: T,
    t: i32,
    m: Vec<Vec<T>>,
    v: Vec<Vec<T>>,
}

impl<T: Float> Adam<T> {
    /// `sizes` fixes the order and length of the parameter slices for every step.
    pub fn new(sizes: &[usize]) -> Self {
        let c = |x: f64| T::from(x).expect("a float type holds Adam's constants");
        Self {
            beta1: c(0.9),
            beta2: c(0.999),
            eps: c(1e-8),
            t: 0,
            m: sizes.iter().map(|&n| vec![T::zero(); n]).collect(),
            v: sizes.iter().map(|&n| vec![T::zero(); n]).collect(),
        }
    }

    /// Scales `grads` so their global norm is at most `clip`; returns whether it clipped.
    pub fn clip(grads: &mut [&mut [T]], clip: T) -> bool {
        // The sum in f64 whatever T is, so a large f32 gradient cannot overflow it.
        let norm = grads
            .iter()
            .flat_map(|g| g.iter())
            .map(|g| g.to_f64().map_or(f64::NAN, |g| g * g))
            .sum::<f64>()
            .sqrt();
        let norm = T::from(norm).unwrap_or_else(T::infinity);
        if norm > clip && clip > T::zero() {
            let s = clip / norm;
            grads
                .iter_mut()
                .for_each(|g| g.iter_mut().for_each(|x| *x = *x * s));
            true
        } else {
            false
        }
    }

    pub fn step(&mut self, params: &mut [&mut [T]], grads: &[&mut [T]], lr: T) {
        assert_eq!(
            params.len(),
            self.m.len(),
            "parameter list changed between steps"
        );
        self.t += 1;
        let one = T::one();
        let c1 = one - self.beta1.powi(self.t);
        let c2 = one - self.beta2.powi(self.t);
        let step = lr * c2.sqrt() / c1;
        for (((p, g), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            for (((p, &g), m), v) in p
                .iter_mut()
                .zip(g.iter())
                .zip(m.iter_mut())
                .zip(v.iter_mut())
            {
                *m = self.beta1 * *m + (one - self.beta1) * g;
                *v = self.beta2 * *v + (one - self.beta2) * g * g;
                *p = *p - step * *m / (v.sqrt() + self.eps);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_a_quadratic() {
        let mut x = vec![3.0_f32, -2.0];
        let mut adam = Adam::<f32>::new(&[2]);
        for _ in 0..2000 {
            let mut g = [2.0 * (x[0] - 1.0), 20.0 * (x[1] + 0.5)];
            adam.step(&mut [&mut x[..]], &[&mut g[..]], 0.01);
        }
        assert!(
            (x[0] - 1.0).abs() < 1e-3 && (x[1] + 0.5).abs() < 1e-3,
            "{x:?}"
        );
    }

    #[test]
    fn clips_to_the_global_norm() {
        let mut a = [3.0_f32];
        let mut b = [4.0_f32];
        assert!(Adam::clip(&mut [&mut a[..], &mut b[..]], 1.0));
        assert!((a[0] - 0.6).abs() < 1e-6 && (b[0] - 0.8).abs() < 1e-6);
        assert!(!Adam::clip(&mut [&mut a[..], &mut b[..]], 1.0));
    }
}
