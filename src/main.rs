//! bitmark-node: the command-line entry point (filled in by the CLI work of issue 2).
fn main() {
    println!("bitmark-node");
}
