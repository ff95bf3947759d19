fn main() {
    std::process::exit(zkprof::cli::main());
}
