//! The sync benchmark (see below).
