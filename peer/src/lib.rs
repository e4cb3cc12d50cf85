//! The peer wire layer and connector (issues 5 and 6).
