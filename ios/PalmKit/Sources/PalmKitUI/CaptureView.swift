// The live capture: the camera preview, a palm outline that follows the palm and turns green
// when every check passes, and the guidance text. The flow starts the camera (it owns the
// permission and back-pressure); this view only shows it.

#if canImport(SwiftUI) && canImport(AVFoundation) && canImport(UIKit)
import AVFoundation
import PalmKit
import PalmKitApp
import SwiftUI

struct CaptureView: View {
    let flow: EnrollmentFlow
    let hand: Hand?
    @State private var camera: CameraController?

    var body: some View {
        ZStack {
            if let camera { CameraPreview(session: camera.session).ignoresSafeArea() }
            PalmOutline(ready: flow.guidance?.ready ?? false)
                .accessibilityHidden(true)
            VStack {
                Spacer()
                Text(flow.guidance?.message ?? "Hold your \(hand?.name.lowercased() ?? "") palm up to the camera")
                    .font(.title3.weight(.semibold)).multilineTextAlignment(.center)
                    .padding().background(.regularMaterial, in: RoundedRectangle(cornerRadius: 12))
                    // VoiceOver hears changes through the flow's rate-limited announcements.
                    .accessibilityLabel(flow.guidance?.message ?? "Camera starting")
                Button("Cancel") { flow.cancelCapture() }
                    .padding().accessibilityHint("Stops the camera; photos taken stay")
            }
            .padding()
        }
        .onAppear {
            // The flow starts the camera it is given (a capture is running) and reports a
            // camera that cannot open on the camera problem screen.
            if camera == nil {
                let made = CameraController(flow: flow)
                made.onInterruption = { why in
                    Task { @MainActor in flow.cameraFailed(why) }
                }
                camera = made
                flow.attach(camera: made)
            }
        }
        .onDisappear { camera?.stop() }
    }
}

/// An outline of an open palm, centred where the shopper should hold theirs.
struct PalmOutline: View {
    let ready: Bool
    var body: some View {
        GeometryReader { geo in
            let w = geo.size.width * 0.7
            let h = w * 1.25
            RoundedRectangle(cornerRadius: w * 0.3)
                .stroke(ready ? Color.green : Color.white, style: StrokeStyle(lineWidth: 4, dash: ready ? [] : [12, 8]))
                .frame(width: w, height: h)
                .position(x: geo.size.width / 2, y: geo.size.height * 0.45)
                .animation(.easeInOut(duration: 0.2), value: ready)
        }
    }
}
#endif
