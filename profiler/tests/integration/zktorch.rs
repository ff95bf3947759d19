//! The zkTorch adapter against a fake installation (filled in below).
