//! `weights.safetensors`: every tensor as f32, named `J`, `W`, `y0`,
//! `J_prep` (optimised preparation only) and `motif.<i>.{x_init,b,U,V,target}`;
//! the target is the training trajectory in network units, kept so a library
//! can be evaluated on its own.

use std::collections::HashMap;

use ndarray::{Array1, Array2};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::LibraryError;
use crate::model::{Drive, Network};

fn bytes(data: &[f32]) -> Vec<u8> {
    data.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn serialize(net: &Network, targets: &[Array2<f32>]) -> Result<Vec<u8>, LibraryError> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = vec![
        (
            "J".into(),
            net.shared.j.shape().to_vec(),
            bytes(&net.shared.j.iter().copied().collect::<Vec<_>>()),
        ),
        (
            "W".into(),
            net.shared.w.shape().to_vec(),
            bytes(&net.shared.w.iter().copied().collect::<Vec<_>>()),
        ),
        (
            "y0".into(),
            net.shared.y0.shape().to_vec(),
            bytes(&net.shared.y0.to_vec()),
        ),
    ];
    if let Some(p) = &net.prep.j_prep {
        tensors.push((
            "J_prep".into(),
            p.shape().to_vec(),
            bytes(&p.iter().copied().collect::<Vec<_>>()),
        ));
    }
    for (i, (m, target)) in net.motifs.iter().zip(targets).enumerate() {
        tensors.push((
            format!("motif.{i}.target"),
            target.shape().to_vec(),
            bytes(&target.iter().copied().collect::<Vec<_>>()),
        ));
        tensors.push((
            format!("motif.{i}.x_init"),
            m.x_init.shape().to_vec(),
            bytes(&m.x_init.to_vec()),
        ));
        match &m.drive {
            Drive::Input { b } => tensors.push((
                format!("motif.{i}.b"),
                b.shape().to_vec(),
                bytes(&b.to_vec()),
            )),
            Drive::Loop { u, v } => {
                tensors.push((
                    format!("motif.{i}.U"),
                    u.shape().to_vec(),
                    bytes(&u.iter().copied().collect::<Vec<_>>()),
                ));
                tensors.push((
                    format!("motif.{i}.V"),
                    v.shape().to_vec(),
                    bytes(&v.iter().copied().collect::<Vec<_>>()),
                ));
            }
        }
    }
    let views = tensors
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|v| (name.clone(), v))
                .map_err(|e| LibraryError::Weights(format!("tensor {name}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(
        views,
        Some(HashMap::from([("format".to_string(), "motif".to_string())])),
    )
    .map_err(|e| LibraryError::Weights(e.to_string()))
}

/// Tensors read back by name with their dtype checked; shapes are checked by the caller.
pub struct Weights<'a> {
    tensors: SafeTensors<'a>,
    /// Header keys in file order, `__metadata__` excluded.
    names: Vec<String>,
}

/// The header's keys, duplicates kept: the safetensors crate reads the header
/// into a map, where a repeated tensor silently replaces the first.
struct HeaderKeys(Vec<String>);

impl<'de> Deserialize<'de> for HeaderKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = HeaderKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a safetensors header object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderKeys, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(k);
                }
                Ok(HeaderKeys(keys))
            }
        }
        d.deserialize_map(Keys)
    }
}

impl<'a> Weights<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Self, LibraryError> {
        let tensors = SafeTensors::deserialize(data)
            .map_err(|e| LibraryError::Weights(format!("not a valid safetensors file: {e}")))?;
        // deserialize checked that the 8-byte length and the header it covers are in bounds.
        let len = u64::from_le_bytes(data[..8].try_into().expect("8 bytes")) as usize;
        let HeaderKeys(mut names) = serde_json::from_slice(&data[8..8 + len])
            .map_err(|e| LibraryError::Weights(format!("not a valid safetensors header: {e}")))?;
        names.retain(|k| k != "__metadata__");
        let mut sorted: Vec<&String> = names.iter().collect();
        sorted.sort();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(LibraryError::Weights(format!(
                "the header lists tensor '{}' twice",
                w[0]
            )));
        }
        Ok(Self { tensors, names })
    }

    /// Every tensor in the file must be one of `expected`: an extra one means
    /// the weights were written for another manifest.
    pub fn check_names(&self, expected: &[String]) -> Result<(), LibraryError> {
        let expected: std::collections::HashSet<&str> =
            expected.iter().map(String::as_str).collect();
        match self.names.iter().find(|n| !expected.contains(n.as_str())) {
            Some(extra) => Err(LibraryError::Weights(format!(
                "holds tensor '{extra}', which the manifest does not describe"
            ))),
            None => Ok(()),
        }
    }

    fn raw(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), LibraryError> {
        let t = self
            .tensors
            .tensor(name)
            .map_err(|_| LibraryError::Weights(format!("tensor '{name}' is missing")))?;
        if t.dtype() != Dtype::F32 {
            return Err(LibraryError::Weights(format!(
                "tensor '{name}' is {:?}, expected F32",
                t.dtype()
            )));
        }
        let values = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok((t.shape().to_vec(), values))
    }

    pub fn matrix(
        &self,
        name: &str,
        rows: usize,
        cols: usize,
    ) -> Result<Array2<f32>, LibraryError> {
        let (shape, v) = self.raw(name)?;
        if shape != [rows, cols] {
            return Err(LibraryError::Weights(format!(
                "tensor '{name}' has shape {shape:?}, the manifest implies [{rows}, {cols}]"
            )));
        }
        Array2::from_shape_vec((rows, cols), v)
            .map_err(|e| LibraryError::Weights(format!("tensor '{name}': {e}")))
    }

    pub fn vector(&self, name: &str, len: usize) -> Result<Array1<f32>, LibraryError> {
        let (shape, v) = self.raw(name)?;
        if shape != [len] {
            return Err(LibraryError::Weights(format!(
                "tensor '{name}' has shape {shape:?}, the manifest implies [{len}]"
            )));
        }
        Ok(Array1::from_vec(v))
    }
}
