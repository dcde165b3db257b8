//! br-sim
