//! Chain storage in sled (issue 3).
