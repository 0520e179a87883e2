//! Integration tests of `ginkgo-domain`: one binary, one module per concern.

mod domain {
    pub mod fuzz_corpus;
    pub mod props;
}
