//! Build script of crossauthz-store: rebuild when a migration is added, changed or removed
//! (`sqlx::migrate!` embeds the files; `include_str!` alone would not notice a new file).

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
