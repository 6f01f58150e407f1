//! Adam with global-norm gradient clipping over a fixed list of parameter slices.

#[derive(Debug, Clone)]
pub struct Adam {
    beta1: f32,
    beta2: f32,
    eps: f32,
    t: i32,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Adam {
    /// `sizes` fixes the order and length of the parameter slices for every step.
    pub fn new(sizes: &[usize]) -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
            m: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            v: sizes.iter().map(|&n| vec![0.0; n]).collect(),
        }
    }

    /// Scales `grads` so their global norm is at most `clip`; returns whether it clipped.
    pub fn clip(grads: &mut [&mut [f32]], clip: f32) -> bool {
        let norm = grads
            .iter()
            .flat_map(|g| g.iter())
            .map(|g| (*g as f64) * (*g as f64))
            .sum::<f64>()
            .sqrt() as f32;
        if norm > clip && clip > 0.0 {
            let s = clip / norm;
            grads.iter_mut().for_each(|g| g.iter_mut().for_each(|x| *x *= s));
            true
        } else {
            false
        }
    }

    pub fn step(&mut self, params: &mut [&mut [f32]], grads: &[&mut [f32]], lr: f32) {
        assert_eq!(params.len(), self.m.len(), "parameter list changed between steps");
        self.t += 1;
        let c1 = 1.0 - self.beta1.powi(self.t);
        let c2 = 1.0 - self.beta2.powi(self.t);
        let step = lr * c2.sqrt() / c1;
        for (((p, g), m), v) in params.iter_mut().zip(grads).zip(&mut self.m).zip(&mut self.v) {
            for (((p, g), m), v) in p.iter_mut().zip(g.iter()).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = self.beta1 * *m + (1.0 - self.beta1) * g;
                *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
                *p -= step * *m / (v.sqrt() + self.eps);
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
        let mut adam = Adam::new(&[2]);
        for _ in 0..2000 {
            let mut g = [2.0 * (x[0] - 1.0), 20.0 * (x[1] + 0.5)];
            adam.step(&mut [&mut x[..]], &[&mut g[..]], 0.01);
        }
        assert!((x[0] - 1.0).abs() < 1e-3 && (x[1] + 0.5).abs() < 1e-3, "{x:?}");
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
