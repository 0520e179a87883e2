//! Black-box tests of the sandbox over real HTTP (127.0.0.1, port 0), and of the
//! `ginkgo-openbanking` client against it.

mod sandbox {
    pub mod api;
    pub mod client;
    pub mod generator;
    pub mod helpers;
    pub mod oauth;
    pub mod testbed;
}
