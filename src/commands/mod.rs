//! One module per CLI command.

pub mod decode;
pub mod encode;
pub mod keygen;
