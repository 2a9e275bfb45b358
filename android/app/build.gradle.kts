// The app with the Rust core built for three ABIs by cargo-ndk (16 KB page-aligned, as Google
// Play requires from targetSdk 35 devices with 16 KB pages), the Kotlin bindings generated
// from that library, and the service configuration and hand models as assets.
//
// Needs: Android Studio (AGP 8.7, compileSdk 35, NDK r27+), rustup targets
// aarch64-linux-android, armv7-linux-androideabi, x86_64-linux-android, and
// `cargo install cargo-ndk`. Gradle properties (gradle.properties or -P):
//   palmkit.config = path to the service's client-config.json
//   palmkit.models = path to the provisioned models folder (`cargo xtask models` prints it)
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

val repo = rootDir.parentFile
val rustLibs = layout.buildDirectory.dir("rustJniLibs")
val bindings = layout.buildDirectory.dir("generated/uniffi")
val palmkitAssets = layout.buildDirectory.dir("palmkitAssets")

android {
    namespace = "com.palmkit.app"
    compileSdk = 35
    ndkVersion = "27.2.12479018"

    defaultConfig {
        applicationId = "com.palmkit.app"
        minSdk = 28
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
    }
    sourceSets["main"].apply {
        java.srcDirs("src/main/kotlin", bindings)
        jniLibs.srcDirs(rustLibs)
        assets.srcDirs(palmkitAssets)
    }
    // Uncompressed native libraries, zip-aligned to 16 KB by AGP 8.5.1+.
    packaging { jniLibs { useLegacyPackaging = false } }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    buildTypes {
        release { isMinifyEnabled = false }
    }
    // The Robolectric tests need the host build of the core and a running `palmkit serve`:
    // `cargo xtask android` runs them. Under Gradle they need the same environment.
    testOptions { unitTests { isIncludeAndroidResources = true } }
}

dependencies {
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    testImplementation("junit:junit:4.13.2")
    testImplementation("org.robolectric:robolectric:4.17")
}

val cargoNdk by tasks.registering(Exec::class) {
    description = "Builds libpalmkit_ffi.so for each ABI with cargo-ndk, 16 KB page-aligned."
    workingDir = repo
    environment("RUSTFLAGS", "-C link-arg=-Wl,-z,max-page-size=16384")
    commandLine(
        "cargo", "ndk", "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64", "--platform", "28",
        "-o", rustLibs.get().asFile.path, "build", "--release", "-p", "palmkit-ffi", "--lib",
    )
}

val uniffiBindings by tasks.registering(Exec::class) {
    description = "Generates the Kotlin bindings from the built library (UniFFI library mode)."
    dependsOn(cargoNdk)
    workingDir = repo
    commandLine(
        "cargo", "run", "--quiet", "-p", "palmkit-uniffi-bindgen", "--", "generate", "--library",
        rustLibs.get().file("arm64-v8a/libpalmkit_ffi.so").asFile.path, "--language", "kotlin",
        "--config", "uniffi.toml", "--out-dir", bindings.get().asFile.path,
    )
}

val palmkitAssetsCopy by tasks.registering(Copy::class) {
    description = "Bundles the service configuration and the hand models."
    from(providers.gradleProperty("palmkit.config")) { rename { "client-config.json" } }
    from(providers.gradleProperty("palmkit.models")) {
        // The two models the core runs (vision::DETECTOR_MODEL, vision::LANDMARK_MODEL),
        // not the whole folder: `cargo xtask size` holds them to the app's size budget.
        include("palm_detection_full.onnx", "hand_landmark_lite.onnx", "SHA256SUMS", "NOTICE")
        into("models")
    }
    into(palmkitAssets)
}

tasks.named("preBuild") { dependsOn(uniffiBindings, palmkitAssetsCopy) }
