//! Compiles `proto/crossauthz/*.proto` with tonic-prost-build.
//!
//! protoc comes from `protoc-bin-vendored` unless `PROTOC` is set, so a fresh machine builds with
//! nothing installed (ARCHITECTURE.md, "Contracts").

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = tonic_prost_build::Config::new();
    match std::env::var_os("PROTOC") {
        Some(protoc) => config.protoc_executable(protoc),
        None => config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?),
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files: Vec<_> = [
        "common",
        "registry",
        "issuer",
        "status_list",
        "verifier",
        "audit",
        "monitor",
    ]
    .iter()
    .map(|f| root.join(format!("crossauthz/{f}.proto")))
    .collect();
    tonic_prost_build::configure()
        .file_descriptor_set_path(
            std::path::PathBuf::from(std::env::var("OUT_DIR")?).join("crossauthz_descriptor.bin"),
        )
        .compile_with_config(config, &files, std::slice::from_ref(&root))?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
