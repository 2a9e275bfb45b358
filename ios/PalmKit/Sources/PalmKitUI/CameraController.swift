// The back camera as the flow's FrameSource: an AVCaptureSession with a video data output in
// 420YpCbCr8BiPlanarFullRange (NV12) delivering to one serial queue, late frames discarded by
// AVFoundation, each frame's two planes lent to the flow's `analyze` while locked. The
// portrait-only app passes rotation 90 (the sensor is landscape); the preview layer shows the
// same picture. Nothing is written anywhere: the planes are read in place and unlocked.

#if canImport(AVFoundation) && canImport(UIKit)
import AVFoundation
import PalmKitApp
import UIKit

public final class CameraController: NSObject, FrameSource, AVCaptureVideoDataOutputSampleBufferDelegate,
    @unchecked Sendable
{
    public let session = AVCaptureSession()
    private let queue = DispatchQueue(label: "com.palmkit.app.camera", qos: .userInitiated)
    private let output = AVCaptureVideoDataOutput()
    private weak var flow: EnrollmentFlow?
    private var configured = false
    /// Told when the camera is taken by another app (Split View, a call) or given back.
    public var onInterruption: (@Sendable (String) -> Void)?

    public init(flow: EnrollmentFlow) {
        self.flow = flow
        super.init()
        NotificationCenter.default.addObserver(
            forName: AVCaptureSession.wasInterruptedNotification, object: session, queue: .main
        ) { [weak self] note in
            let reason = (note.userInfo?[AVCaptureSessionInterruptionReasonKey] as? Int)
                .flatMap(AVCaptureSession.InterruptionReason.init(rawValue:))
            let text = reason == .videoDeviceInUseByAnotherClient
                ? "the camera is in use by another app" : "the camera was interrupted"
            self?.onInterruption?(text)
        }
    }

    private func configure() throws {
        guard !configured else { return }
        session.beginConfiguration()
        defer { session.commitConfiguration() }
        session.sessionPreset = .hd1280x720
        guard let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back) else {
            throw CameraError("this device has no back camera")
        }
        let input = try AVCaptureDeviceInput(device: device)
        guard session.canAddInput(input) else { throw CameraError("the camera cannot be opened") }
        session.addInput(input)
        output.videoSettings = [
            kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_420YpCbCr8BiPlanarFullRange
        ]
        output.alwaysDiscardsLateVideoFrames = true
        output.setSampleBufferDelegate(self, queue: queue)
        guard session.canAddOutput(output) else { throw CameraError("the camera's frames cannot be read") }
        session.addOutput(output)
        configured = true
    }

    public func start() throws {
        try configure()
        queue.async { [session] in if !session.isRunning { session.startRunning() } }
    }

    public func stop() {
        queue.async { [session] in if session.isRunning { session.stopRunning() } }
    }

    public func captureOutput(
        _ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection
    ) {
        guard let flow, let pixels = CMSampleBufferGetImageBuffer(sampleBuffer),
            CVPixelBufferGetPlaneCount(pixels) == 2
        else { return }
        CVPixelBufferLockBaseAddress(pixels, .readOnly)
        defer { CVPixelBufferUnlockBaseAddress(pixels, .readOnly) }
        guard let y = CVPixelBufferGetBaseAddressOfPlane(pixels, 0),
            let cbcr = CVPixelBufferGetBaseAddressOfPlane(pixels, 1)
        else { return }
        let time = CMSampleBufferGetPresentationTimeStamp(sampleBuffer)
        let frame = BiPlanarFrame(
            width: CVPixelBufferGetWidth(pixels), height: CVPixelBufferGetHeight(pixels),
            luma: CameraPlane(
                base: UnsafeRawPointer(y), bytesPerRow: CVPixelBufferGetBytesPerRowOfPlane(pixels, 0),
                rows: CVPixelBufferGetHeightOfPlane(pixels, 0)),
            chroma: CameraPlane(
                base: UnsafeRawPointer(cbcr), bytesPerRow: CVPixelBufferGetBytesPerRowOfPlane(pixels, 1),
                rows: CVPixelBufferGetHeightOfPlane(pixels, 1)),
            rotationDegrees: 90, mirrored: false,
            timestampMs: UInt64(max(0, CMTimeGetSeconds(time)) * 1000))
        flow.analyze(frame)
    }
}

struct CameraError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The live preview.
struct CameraPreview: UIViewRepresentable {
    let session: AVCaptureSession

    final class PreviewView: UIView {
        override class var layerClass: AnyClass { AVCaptureVideoPreviewLayer.self }
        var preview: AVCaptureVideoPreviewLayer { layer as! AVCaptureVideoPreviewLayer }
    }

    func makeUIView(context: Context) -> PreviewView {
        let view = PreviewView()
        view.preview.session = session
        view.preview.videoGravity = .resizeAspectFill
        view.accessibilityLabel = "Camera preview"
        return view
    }

    func updateUIView(_ view: PreviewView, context: Context) {}
}
#endif
