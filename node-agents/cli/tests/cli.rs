//! Integration tests of the `kaisar` CLI against a running chain (written in a later commit).
