fn main() {
    let root = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    for d in resolver::sysdeps::chain(&root, &resolver::sysdeps::Target::x86_64_linux()) {
        println!("{d}");
    }
}
