//! Integration tests of `ginkgo-openbanking`: one binary, one module per concern.

mod openbanking {
    pub mod fuzz_corpus;
    pub mod props;
}
