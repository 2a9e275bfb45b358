//! `uniffi-bindgen`: generates the Swift and Kotlin bindings from the built palmkit-ffi
//! library (library mode). Run through `cargo xtask bindings`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
