// One switch over the flow's screen. Every screen reads the flow and calls it; none decides
// a transition.

#if canImport(SwiftUI) && canImport(UIKit)
import PalmKit
import PalmKitApp
import SwiftUI
import UIKit

struct RootView: View {
    let flow: EnrollmentFlow

    var body: some View {
        NavigationStack {
            Group {
                switch flow.screen {
                case .starting: ProgressView("Loading…")
                case .login: LoginView(flow: flow)
                case .consent: ConsentView(flow: flow)
                case .hands(let captured): HandsView(flow: flow, captured: captured)
                case .capture(let hand): CaptureView(flow: flow, hand: hand)
                case .camera(let problem): CameraProblemView(flow: flow, problem: problem)
                case .card: CardEntryView(flow: flow)
                case .upload(let confirmed, let total): UploadView(flow: flow, confirmed: confirmed, total: total)
                case .status: StatusView(flow: flow)
                case .failed(let reason, _, let retryable): FailedView(flow: flow, reason: reason, retryable: retryable)
                }
            }
            .safeAreaInset(edge: .bottom) {
                if let notice = flow.notice {
                    Text(notice).font(.callout).padding().frame(maxWidth: .infinity)
                        .background(.thinMaterial).accessibilityAddTraits(.updatesFrequently)
                }
            }
        }
    }
}

struct LoginView: View {
    let flow: EnrollmentFlow
    var body: some View {
        VStack(spacing: 24) {
            Image(systemName: "hand.raised").font(.system(size: 64)).accessibilityHidden(true)
            Text("Pay with your palm").font(.largeTitle.bold())
            Text("Log in to your account to enroll your palm.").multilineTextAlignment(.center)
            Button("Log in") { Task { await flow.login() } }
                .buttonStyle(.borderedProminent).disabled(flow.busy)
                .accessibilityHint("Opens your account's login page")
        }
        .padding()
    }
}

struct ConsentView: View {
    let flow: EnrollmentFlow
    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 16) {
                Text("Before you start").font(.title.bold())
                Text("**What is captured.** Photos of the palm of one or both hands, taken now with this phone's camera, and a payment card you choose.")
                Text("**Where it goes.** The photos are encrypted on this phone for the palm service and sent only to it. They are never saved on this phone. The service turns them into a palm signature and completes your enrollment the first time you pay by palm in a store.")
                Text("**How to delete it.** Delete your enrollment in this app at any time; the service then deletes the photos and the signature. An enrollment not used in a store expires and is deleted too.")
                Button("I agree") { Task { await flow.giveConsent() } }
                    .buttonStyle(.borderedProminent).disabled(flow.busy)
                    .accessibilityHint("Records your consent for palm enrollment")
                Button("Log out", role: .destructive) { Task { await flow.logout() } }
            }
            .padding()
        }
    }
}

struct HandsView: View {
    let flow: EnrollmentFlow
    let captured: [Hand]
    var body: some View {
        List {
            Section("Your palms") {
                ForEach([Hand.left, .right], id: \.self) { hand in
                    let done = captured.contains(hand)
                    Button {
                        Task { await flow.startCapture(hand: hand) }
                    } label: {
                        Label(done ? "\(hand.name) palm captured" : "Photograph your \(hand.name.lowercased()) palm",
                              systemImage: done ? "checkmark.circle.fill" : "hand.raised")
                    }
                    .disabled(done)
                }
            }
            if !captured.isEmpty {
                Section {
                    Button("Continue to payment") { flow.enterCard() }
                        .accessibilityHint("The other hand is optional")
                }
            }
        }
        .navigationTitle("Palms")
    }
}

struct CameraProblemView: View {
    let flow: EnrollmentFlow
    let problem: CameraProblem
    @Environment(\.openURL) private var openURL
    var body: some View {
        VStack(spacing: 16) {
            switch problem {
            case .denied:
                Text("PalmKit needs the camera to photograph your palm.").multilineTextAlignment(.center)
                Button("Open Settings") {
                    if let url = URL(string: UIApplication.openSettingsURLString) { openURL(url) }
                }
            case .unavailable(let why):
                Text("The camera cannot be used: \(why).").multilineTextAlignment(.center)
            }
            Button("Back") { flow.dismissCameraProblem() }
        }
        .padding()
    }
}

struct StatusView: View {
    let flow: EnrollmentFlow
    var body: some View {
        List {
            Section("Enrollment") {
                switch flow.snapshot.state {
                case .pendingStoreMatch:
                    Text("Sent. Your enrollment completes the first time you pay by palm in a store.")
                case .complete: Text("Complete: you can pay with your palm.")
                case .expired: Text("Expired before it was used in a store. Its photos are deleted.")
                case .deleted: Text("Deleted, with its photos and palm signature.")
                default: EmptyView()
                }
                LabeledContent("Left palm", value: flow.snapshot.left.label)
                LabeledContent("Right palm", value: flow.snapshot.right.label)
            }
            Section {
                switch flow.snapshot.state {
                case .pendingStoreMatch, .complete:
                    Button("Check status") { Task { await flow.refresh() } }
                    Button("Delete my enrollment", role: .destructive) { Task { await flow.delete() } }
                default:
                    Button("Enroll again") { flow.enrollAgain() }
                }
                Button("Log out") { Task { await flow.logout() } }
            }
        }
        .disabled(flow.busy)
        .navigationTitle("Status")
    }
}

struct FailedView: View {
    let flow: EnrollmentFlow
    let reason: FailureReason
    let retryable: Bool
    var body: some View {
        VStack(spacing: 16) {
            Text(reason.shopperText).multilineTextAlignment(.center)
            if retryable { Button("Try again") { Task { await flow.retry() } }.buttonStyle(.borderedProminent) }
            Button("Start over") { flow.enrollAgain() }
        }
        .padding()
    }
}

extension Hand {
    var name: String { self == .left ? "Left" : "Right" }
}

extension HandStatus {
    var label: String {
        switch self {
        case .notCaptured: "Not captured"
        case .captured: "Captured"
        case .uploaded: "Sent"
        case .pendingMatch: "Pending store match"
        case .active: "Active"
        case .failed: "Failed"
        }
    }
}

extension FailureReason {
    /// Neutral wording: a spoof suspicion is not an accusation.
    var shopperText: String {
        switch self {
        case .captureTimedOut: "We could not get a clear photo. Find better light and try again."
        case .spoofSuspected: "We could not confirm the photo. Please try again."
        case .offline: "No network. Your photos are kept; send them again when you are online."
        case .serviceUnavailable: "The palm service is busy. Try again in a moment."
        case .untrustedServer: "This network is not safe for enrollment. Use another network."
        case .rejected: "The service did not accept this enrollment. Start over."
        case .other: "Something went wrong. Start over."
        }
    }
}
#endif
