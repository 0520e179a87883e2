#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ginkgo_openbanking::fuzzing::openbanking_json(data);
});
