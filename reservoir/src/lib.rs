//! The reservoir of unconfirmed transactions (issue 4).
