import Foundation
import PalmKit
import PalmKitApp
import XCTest

/// What `cargo xtask test-swift` hands the tests (see Tests/PalmKitTests/TestEnv.swift): the
/// running `palmkit serve`'s client configuration, the models, the exported camera frames, a
/// palm photo and the `palmkit` binary whose `approve-login` plays the browser.
enum AppTestEnv {
    static func env(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name] else {
            throw XCTSkip("\(name) is not set: run this through `cargo xtask test-swift`")
        }
        return value
    }

    static func configJSON() throws -> String {
        try String(contentsOfFile: try env("PALMKIT_TEST_CONFIG"), encoding: .utf8)
    }

    /// Plays the shopper at the login page for `url`; returns the redirect URL.
    static func browser(_ url: String, cancel: Bool) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try env("PALMKIT_CLI"))
        var args = ["approve-login", "--config", try env("PALMKIT_TEST_CONFIG")]
        if cancel { args.append("--cancel") }
        args.append(url)
        process.arguments = args
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw XCTSkip("approve-login failed") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The exported sensor frame (NV21, rotation 90) re-laid as the NV12 planes an iPhone's
    /// `420YpCbCr8BiPlanarFullRange` buffer has, with padded rows as real buffers have.
    struct NV12 {
        var width: Int, height: Int, rotation: UInt32
        var luma: [UInt8], lumaRow: Int
        var chroma: [UInt8], chromaRow: Int

        /// Runs `body` with the frame borrowed as the camera would lend it.
        func withFrame<T>(at ms: UInt64, _ body: (BiPlanarFrame) throws -> T) rethrows -> T {
            try luma.withUnsafeBytes { y in
                try chroma.withUnsafeBytes { c in
                    try body(BiPlanarFrame(
                        width: width, height: height,
                        luma: CameraPlane(base: y.baseAddress!, bytesPerRow: lumaRow, rows: height),
                        chroma: CameraPlane(base: c.baseAddress!, bytesPerRow: chromaRow, rows: height / 2),
                        rotationDegrees: rotation, mirrored: false, timestampMs: ms))
                }
            }
        }
    }

    static func nv12Frame(padding: Int = 64) throws -> NV12 {
        let dir = URL(fileURLWithPath: try env("PALMKIT_TEST_FRAMES"))
        let text = try String(contentsOf: dir.appendingPathComponent("frames.properties"), encoding: .utf8)
        var props: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2, let n = Int(parts[1]) { props[parts[0]] = n }
        }
        guard let w = props["nv21.width"], let h = props["nv21.height"], let rot = props["nv21.rotation"] else {
            throw XCTSkip("frames.properties lacks the NV21 frame")
        }
        let nv21 = [UInt8](try Data(contentsOf: dir.appendingPathComponent("frame.nv21")))
        let lumaRow = w + padding, chromaRow = w + padding
        var luma = [UInt8](repeating: 0, count: lumaRow * h)
        var chroma = [UInt8](repeating: 128, count: chromaRow * h / 2)
        for y in 0..<h {
            luma.replaceSubrange(y * lumaRow..<y * lumaRow + w, with: nv21[y * w..<(y + 1) * w])
        }
        for y in 0..<h / 2 {
            for x in stride(from: 0, to: w, by: 2) {
                let vu = w * h + y * w + x
                chroma[y * chromaRow + x] = nv21[vu + 1]  // Cb
                chroma[y * chromaRow + x + 1] = nv21[vu]  // Cr
            }
        }
        return NV12(width: w, height: h, rotation: UInt32(rot), luma: luma, lumaRow: lumaRow, chroma: chroma, chromaRow: chromaRow)
    }
}

/// swift 6.0.3 on Linux links Observation against a missing `swift::threading::fatal`
/// (swiftlang/swift#75670, fixed in 6.2): supply it for the test binary.
#if os(Linux) && compiler(<6.2)
@_cdecl("_ZN5swift9threading5fatalEPKcz")
func swiftThreadingFatal(_ message: UnsafePointer<CChar>) -> Never {
    fatalError(String(cString: message))
}
#endif
