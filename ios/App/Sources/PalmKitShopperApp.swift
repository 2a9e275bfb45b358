// The iPhone app's entry point: everything else is in the PalmKit package (PalmKitUI for the
// screens and Apple services, PalmKitApp for the flow, PalmKit for the core's bindings).

import PalmKitUI
import SwiftUI

@main
struct PalmKitShopperApp: App {
    var body: some Scene {
        PalmKitScene()
    }
}
