import ArgumentParser
import GatehouseCLI

@main
enum GatehouseMain {
    static func main() async {
        await GatehouseCommand.main(nil)
    }
}
