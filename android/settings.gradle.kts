// The Android app for Android Studio (Gradle + Android Gradle Plugin). Not run on the Linux
// build machine (no Google Maven, no SDK there): `cargo xtask android` builds, tests and
// packages the same sources there. See README.md.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "PalmKit"
include(":app")
