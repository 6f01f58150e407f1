//! Building the optimised preparation for a trainable network.

use ndarray::{Array2, Axis};

use crate::model::prep::{optimise_prep, PrepOptions};
use crate::model::Network;

/// `J_prep = J + U_p V_p` of the given rank around the network's initial `J`,
/// optimised for fast decay with a smooth output. The readout smoothness term
/// uses the mean readout direction, since the loss is defined for one output.
pub fn optimised_j_prep(net: &Network, rank: usize) -> Result<Array2<f32>, String> {
    let j0 = net.shared.j.mapv(f64::from);
    let w = net
        .shared
        .w
        .mean_axis(Axis(0))
        .ok_or("the network has no outputs")?
        .mapv(f64::from);
    optimise_prep(&j0, &w, rank, net.tau as f64, PrepOptions::default())
        .map(|r| r.j_prep_f32())
        .map_err(|e| e.to_string())
}
