// Card entry. The fields live only in this view's state and go straight to the core, which
// sends them to the payment provider; nothing here logs them. The screen is hidden while
// recorded or mirrored and blurred in the app switcher (PrivacyShield).

#if canImport(SwiftUI) && canImport(UIKit)
import PalmKit
import PalmKitApp
import SwiftUI

struct CardEntryView: View {
    let flow: EnrollmentFlow
    @State private var number = ""
    @State private var expiry = ""
    @State private var cvc = ""
    @State private var name = ""

    var body: some View {
        Form {
            Section("Payment card") {
                TextField("Card number", text: $number)
                    .keyboardType(.numberPad).textContentType(.creditCardNumber)
                    .autocorrectionDisabled().privacySensitive()
                TextField("MM/YY", text: $expiry)
                    .keyboardType(.numberPad).privacySensitive()
                    .accessibilityLabel("Expiry, month and year")
                SecureField("CVC", text: $cvc).keyboardType(.numberPad)
                TextField("Name on card", text: $name).textContentType(.name)
            }
            Button("Add card") {
                let parts = expiry.split(separator: "/").compactMap { UInt32($0.trimmingCharacters(in: .whitespaces)) }
                let card = CardInput(
                    number: number.filter(\.isNumber),
                    expMonth: parts.first ?? 0,
                    expYear: parts.count > 1 ? 2000 + (parts[1] % 100) : 0,
                    cvc: cvc, cardholderName: name)
                Task {
                    await flow.addCard(card)
                    cvc = ""
                }
            }
            .disabled(flow.busy || number.isEmpty)
            Button("Back") { flow.leaveCard() }
        }
        .navigationTitle("Card")
    }
}

struct UploadView: View {
    let flow: EnrollmentFlow
    let confirmed: UInt64
    let total: UInt64

    var body: some View {
        VStack(spacing: 20) {
            if total == 0 && !flow.busy {
                Text("Ready to send your palm photos, encrypted, to the palm service.")
                    .multilineTextAlignment(.center)
                Button("Send") { Task { await flow.upload() } }.buttonStyle(.borderedProminent)
            } else {
                ProgressView(value: total == 0 ? 0 : Double(confirmed) / Double(total)) {
                    Text("Sending your palm photos")
                }
                .accessibilityValue("\(total == 0 ? 0 : confirmed * 100 / total) percent")
                Button("Cancel", role: .cancel) { flow.cancelUpload() }
                    .accessibilityHint("Pauses sending; you can send again later")
            }
        }
        .padding()
    }
}
#endif
