import Foundation
#if canImport(Glibc)
import Glibc
#endif

// What every harness of Fuzz/ shares: the invariant check and the hand-over to libFuzzer.

/// Stops the run with a message when an invariant is broken: libFuzzer records the input that
/// broke it as a crash (`crash-…`) and scripts/fuzz.sh fails.
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        FileHandle.standardError.write(Data("invariant broken: \(message())\n".utf8))
        abort()
    }
}

public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
private typealias RunDriver = @convention(c) (
    UnsafeMutablePointer<CInt>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>, FuzzTarget
) -> CInt

/// Runs libFuzzer's driver on `target`, with the process's arguments.
///
/// SwiftPM links an executable target's entry point as `<Module>_main` (`--defsym main=…`), which
/// takes the place of libFuzzer's own `main`; each harness defines that symbol with `@_cdecl` and
/// calls this. `LLVMFuzzerRunDriver` is libFuzzer's documented entry for programs with their own
/// `main`; the harnesses' link flags (Package.swift) export it so that `dlsym` finds it.
public func runLibFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ target: FuzzTarget) -> CInt {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "LLVMFuzzerRunDriver") else {
        FileHandle.standardError.write(Data("LLVMFuzzerRunDriver not found: build with scripts/fuzz.sh\n".utf8))
        return 2
    }
    var count = argc
    var arguments = argv
    return unsafeBitCast(symbol, to: RunDriver.self)(&count, &arguments, target)
}
