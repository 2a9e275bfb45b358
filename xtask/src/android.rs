//! `cargo xtask android`: the Android app built, tested, packaged and linted on Linux
//! without the Android SDK download (../shared/notes/shells-on-linux.md):
//!
//! 1. resources and manifest with Debian's `aapt2` against Debian's `framework-res.apk`
//!    (API 29 resources; minSdk 28 / targetSdk 35 are in the manifest);
//! 2. the app (generated bindings + `android/app/src/main`) with `kotlinc` against
//!    Robolectric's `android-all` jar for API 35 (a full framework from Maven Central);
//! 3. its tests with Robolectric 4.17 and JUnit 4, offline, against a real `palmkit serve`
//!    and the host build of the core (JNA); screenshots of each screen into
//!    `target/xtask/android-build/screenshots`;
//! 4. D8 (r8 from Maven Central), zipalign and apksigner (Debian) with a debug key made on
//!    first use in the cache, outside the repository;
//! 5. Android Lint (from Maven Central), offline.
//!
//! The APK holds no native library: linking the core for Android needs the NDK, which is
//! not available here (android/README.md has the Gradle build for Android Studio).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{bindings, harness, tools, util};

const APP: &str = "android/app";
const ANDROID_ALL: (&str, &str) = ("org/robolectric/android-all", "15-robolectric-13954326");
const INSTRUMENTED: (&str, &str) = (
    "org/robolectric/android-all-instrumented",
    "15-robolectric-13954326-i7",
);
const R8: (&str, &str) = ("com/android/tools/r8", "9.5.28");
const LINT_VERSION: &str = "32.5.1";

/// Builds, tests, packages and lints; prints the APK's path and size. Returns how many
/// Robolectric tests ran.
pub fn build() -> Result<usize, String> {
    let tools_dir = install_tools()?;
    let kotlin = tools::kotlin_home()?;
    let generated = bindings::generate(&[bindings::Language::Kotlin])?;
    let root = util::root();
    let app = root.join(APP);
    let work = util::target_dir().join("xtask/android-build");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let android_all = m2(ANDROID_ALL);

    // 1. Resources: the compiled resource table (the APK's base) and R.java.
    let res_zip = work.join("res.zip");
    util::run(
        Command::new("aapt2")
            .args(["compile", "--dir"])
            .arg(app.join("src/main/res"))
            .arg("-o")
            .arg(&res_zip),
    )?;
    let base_apk = work.join("base.apk");
    let r_java = work.join("gen");
    util::run(
        Command::new("aapt2")
            .arg("link")
            .arg("-o")
            .arg(&base_apk)
            .args(["-I", "/usr/share/android-framework-res/framework-res.apk"])
            .arg("--manifest")
            .arg(app.join("src/main/AndroidManifest.xml"))
            .arg("--java")
            .arg(&r_java)
            .args(["--min-sdk-version", "28", "--target-sdk-version", "35"])
            .arg(&res_zip),
    )?;
    let r_classes = work.join("r-classes");
    util::run(
        Command::new("javac")
            .args(["-nowarn", "-d"])
            .arg(&r_classes)
            .arg(r_java.join("com/palmkit/app/R.java")),
    )?;

    // 2. The app's classes.
    let stdlib = kotlin.join("lib/kotlin-stdlib.jar");
    let coroutines = kotlin.join("lib/kotlinx-coroutines-core-jvm.jar");
    let jna = PathBuf::from("/usr/share/java/jna.jar");
    let classes = work.join("classes");
    let main_cp = [&android_all, &stdlib, &coroutines, &jna, &r_classes];
    util::run(
        Command::new(kotlin.join("bin/kotlinc"))
            .args(["-nowarn", "-jvm-target", "17", "-no-stdlib", "-cp"])
            .arg(join(&main_cp))
            .arg("-d")
            .arg(&classes)
            .arg(&generated.kotlin_dir)
            .arg(app.join("src/main/kotlin")),
    )?;

    // 3. Robolectric tests.
    let robolectric = jars(&tools_dir.join("robolectric"))?;
    let test_classes = work.join("test-classes");
    let mut test_cp: Vec<PathBuf> = main_cp.iter().map(|p| p.to_path_buf()).collect();
    test_cp.push(classes.clone());
    test_cp.extend(robolectric.iter().cloned());
    util::run(
        Command::new(kotlin.join("bin/kotlinc"))
            .args(["-nowarn", "-jvm-target", "17", "-no-stdlib", "-cp"])
            .arg(join(&test_cp))
            .arg("-d")
            .arg(&test_classes)
            .arg(app.join("src/test/kotlin")),
    )?;
    // Robolectric finds the resources and manifest through this file on the classpath.
    let config_dir = work.join("test-config");
    let config = config_dir.join("com/android/tools/test_config.properties");
    std::fs::create_dir_all(config.parent().ok_or("bad path")?).map_err(|e| e.to_string())?;
    std::fs::write(
        &config,
        format!(
            "android_resource_apk={}\nandroid_merged_manifest={}\nandroid_custom_package=com.palmkit.app\n",
            base_apk.display(),
            app.join("src/main/AndroidManifest.xml").display()
        ),
    )
    .map_err(|e| format!("{}: {e}", config.display()))?;
    test_cp.push(test_classes.clone());
    test_cp.push(config_dir);
    let screenshots = work.join("screenshots");
    let server = harness::TestServer::start("android")?;
    let output = Command::new("java")
        .arg(format!(
            "-Djna.library.path={}",
            generated.lib_dir.display()
        ))
        .arg("-Drobolectric.offline=true")
        .arg(format!(
            "-Drobolectric.dependency.dir={}",
            m2(INSTRUMENTED).parent().ok_or("bad path")?.display()
        ))
        .arg("-cp")
        .arg(join(&test_cp.iter().collect::<Vec<_>>()))
        .arg("org.junit.runner.JUnitCore")
        .arg("com.palmkit.app.ui.MainActivityTest")
        .envs(server.env())
        .env("PALMKIT_SCREENSHOTS", &screenshots)
        .output()
        .map_err(|e| format!("cannot run java: {e}"))?;
    drop(server);
    let tests = crate::kotlin::junit_report(&output, "Android")?;
    println!("screenshots: {}", screenshots.display());

    // 4. Dex, package, align, sign.
    let app_jar = work.join("app.jar");
    util::run(
        Command::new("jar")
            .arg("cf")
            .arg(&app_jar)
            .arg("-C")
            .arg(&classes)
            .arg(".")
            .arg("-C")
            .arg(&r_classes)
            .arg("."),
    )?;
    let dex = work.join("dex");
    std::fs::create_dir_all(&dex).map_err(|e| e.to_string())?;
    util::run(
        Command::new("java")
            .arg("-cp")
            .arg(m2(R8))
            .args([
                "com.android.tools.r8.D8",
                "--release",
                "--min-api",
                "28",
                "--lib",
            ])
            .arg(&android_all)
            .arg("--lib")
            .arg(java_home()?)
            .arg("--output")
            .arg(&dex)
            .args([&app_jar, &stdlib, &coroutines, &jna]),
    )?;
    let unsigned = work.join("unsigned.apk");
    std::fs::copy(&base_apk, &unsigned).map_err(|e| e.to_string())?;
    util::run(
        Command::new("zip")
            .args(["-q", "-j"])
            .arg(&unsigned)
            .arg(dex.join("classes.dex")),
    )?;
    let aligned = work.join("aligned.apk");
    util::run(
        Command::new("zipalign")
            .args(["-f", "-p", "4"])
            .arg(&unsigned)
            .arg(&aligned),
    )?;
    let keystore = debug_key()?;
    let apk = work.join("palmkit-debug.apk");
    util::run(
        Command::new("apksigner")
            .args(["sign", "--ks"])
            .arg(&keystore)
            .args(["--ks-pass", "pass:android", "--out"])
            .arg(&apk)
            .arg(&aligned),
    )?;
    util::run(Command::new("apksigner").args(["verify"]).arg(&apk))?;

    // 5. Lint.
    lint(
        &tools_dir,
        &app,
        &classes,
        &android_all,
        &generated.kotlin_dir,
    )?;

    let size = std::fs::metadata(&apk).map_err(|e| e.to_string())?.len();
    println!(
        "\nAPK: {} ({:.2} MB, signed with the debug key in {})\n\
         It holds no native library: the core is not linked for Android here (no NDK); \
         android/README.md has the Gradle build with cargo-ndk.",
        apk.display(),
        size as f64 / 1e6,
        keystore.display()
    );
    Ok(tests)
}

/// The Debian packages of the Android build.
pub const APT_PACKAGES: &[&str] = &[
    "aapt",
    "android-framework-res",
    "zipalign",
    "apksigner",
    "libjna-java",
    "zip",
    "unzip",
];

/// The build's tools: Debian's (aapt2, framework resources, zipalign, apksigner, JNA) and
/// Maven Central's (Robolectric, android-all, r8, lint), installed when missing. Returns the
/// cache folder of the Maven ones. `cargo xtask test` runs it beside the Rust build.
pub fn install_tools() -> Result<PathBuf, String> {
    tools::ensure_apt(APT_PACKAGES)?;
    let dir = maven_tools()?;
    let lint_dir = dir.join("lint");
    if !lint_dir.join(format!("lint-{LINT_VERSION}.jar")).exists() {
        let pom = dir.join("lint-pom.xml");
        std::fs::write(&pom, LINT_POM).map_err(|e| format!("{}: {e}", pom.display()))?;
        util::run(
            mvn()
                .args(["-q", "-f"])
                .arg(&pom)
                .args(["dependency:copy-dependencies", "-DincludeScope=runtime"])
                .arg(format!("-DoutputDirectory={}", lint_dir.display())),
        )?;
    }
    Ok(dir)
}

/// The Maven Central artifacts: Robolectric's runtime (copied into the cache), the
/// android-all jars, r8 and lint (in ~/.m2).
fn maven_tools() -> Result<PathBuf, String> {
    let dir = util::cache_dir().join("android-tools");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let pom = dir.join("pom.xml");
    std::fs::write(&pom, POM).map_err(|e| format!("{}: {e}", pom.display()))?;
    if !dir.join("robolectric/robolectric-4.17.jar").exists() {
        util::run(
            mvn()
                .args(["-q", "-f"])
                .arg(&pom)
                .args(["dependency:copy-dependencies", "-DincludeScope=runtime"])
                .arg(format!(
                    "-DoutputDirectory={}",
                    dir.join("robolectric").display()
                )),
        )?;
    }
    // Robolectric's two androidx dependencies come as AARs: their classes.jar.
    for aar in ["monitor-1.8.0", "espresso-idling-resource-3.7.0"] {
        let jar = dir.join(format!("robolectric/{aar}.jar"));
        if jar.exists() {
            continue;
        }
        util::run(
            Command::new("unzip")
                .args(["-o", "-q", "-j"])
                .arg(dir.join(format!("robolectric/{aar}.aar")))
                .arg("classes.jar")
                .arg("-d")
                .arg(dir.join("aar")),
        )?;
        std::fs::rename(dir.join("aar/classes.jar"), &jar).map_err(|e| e.to_string())?;
    }
    for (artifact, version) in [ANDROID_ALL, INSTRUMENTED, R8] {
        if !m2((artifact, version)).exists() {
            let coordinates = format!(
                "{}:{}:{version}",
                artifact
                    .rsplit_once('/')
                    .map_or("", |(g, _)| g)
                    .replace('/', "."),
                artifact.rsplit('/').next().unwrap_or_default()
            );
            util::run(mvn().args([
                "-q",
                "dependency:get",
                &format!("-Dartifact={coordinates}"),
                "-Dtransitive=false",
            ]))?;
        }
    }
    Ok(dir)
}

const POM: &str = r#"<project xmlns="http://maven.apache.org/POM/4.0.0">
  <!-- Written by cargo xtask android: the Maven Central tools of the Android build. -->
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.palmkit.tools</groupId>
  <artifactId>android-tools</artifactId>
  <version>1</version>
  <dependencies>
    <dependency><groupId>org.robolectric</groupId><artifactId>robolectric</artifactId><version>4.17</version></dependency>
    <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version></dependency>
  </dependencies>
</project>
"#;

/// An artifact's jar in the local Maven repository.
fn m2((artifact, version): (&str, &str)) -> PathBuf {
    let name = artifact.rsplit('/').next().unwrap_or_default();
    maven_repository()
        .join(artifact)
        .join(version)
        .join(format!("{name}-{version}.jar"))
}

/// The local Maven repository: `$HOME/.m2/repository`, the one Maven uses by default.
fn maven_repository() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(".m2/repository")
}

/// `mvn` told which local repository to fill. Maven's default comes from the account's
/// home directory (Java's `user.home`, read from the password database), not from `$HOME`;
/// where the two differ (a CI job or a cold-machine measurement with its own `HOME`) Maven
/// filled one folder and `m2` looked in the other, and the Android build failed to compile
/// with every `android.*` reference unresolved.
fn mvn() -> Command {
    let mut cmd = Command::new("mvn");
    cmd.arg(format!(
        "-Dmaven.repo.local={}",
        maven_repository().display()
    ));
    cmd
}

fn jars(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jar"))
        .collect();
    found.sort();
    Ok(found)
}

fn join<P: AsRef<Path>>(paths: &[P]) -> String {
    paths
        .iter()
        .map(|p| p.as_ref().display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// The JDK that runs the build (D8 needs its classes to desugar against).
fn java_home() -> Result<PathBuf, String> {
    let javac = util::capture(Command::new("readlink").args(["-f", "/usr/bin/javac"]))?;
    let javac = PathBuf::from(String::from_utf8_lossy(&javac.stdout).trim());
    javac
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("no JDK home above {}", javac.display()))
}

/// The debug signing key, made on first use in the cache (never in the repository).
fn debug_key() -> Result<PathBuf, String> {
    let keystore = util::cache_dir().join("android-debug.keystore");
    if !keystore.exists() {
        util::run(
            Command::new("keytool")
                .args(["-genkeypair", "-keystore"])
                .arg(&keystore)
                .args([
                    "-storepass",
                    "android",
                    "-keypass",
                    "android",
                    "-alias",
                    "androiddebugkey",
                    "-keyalg",
                    "RSA",
                    "-keysize",
                    "2048",
                    "-validity",
                    "10000",
                    "-dname",
                    "CN=Android Debug,O=Android,C=US",
                ]),
        )?;
    }
    Ok(keystore)
}

/// Android Lint, offline, over the app's sources (each Kotlin file listed: lint's project
/// file does not expand folders), resources, manifest and classes; fails on an error.
/// Without the SDK's api-versions.xml its NewApi check is silent (minSdk 28 discipline rests
/// on review and the Gradle build's lint).
fn lint(
    tools_dir: &Path,
    app: &Path,
    classes: &Path,
    android_all: &Path,
    generated: &Path,
) -> Result<(), String> {
    // Installed by `install_tools`.
    let lint_dir = tools_dir.join("lint");
    let mut sources = Vec::new();
    for dir in [app.join("src/main/kotlin"), generated.to_path_buf()] {
        kotlin_files(&dir, &mut sources)?;
    }
    sources.sort();
    let kotlin = tools::kotlin_home()?;
    let mut project = format!(
        "<project>\n  <module name=\"app\" android=\"true\" library=\"false\" compile-sdk-version=\"35\">\n    \
         <manifest file=\"{}\" />\n    <resource file=\"{}\" />\n    <classes dir=\"{}\" />\n",
        app.join("src/main/AndroidManifest.xml").display(),
        app.join("src/main/res").display(),
        classes.display()
    );
    for src in &sources {
        project.push_str(&format!("    <src file=\"{}\" />\n", src.display()));
    }
    for jar in [
        android_all.to_path_buf(),
        kotlin.join("lib/kotlin-stdlib.jar"),
        kotlin.join("lib/kotlinx-coroutines-core-jvm.jar"),
        PathBuf::from("/usr/share/java/jna.jar"),
    ] {
        project.push_str(&format!("    <classpath jar=\"{}\" />\n", jar.display()));
    }
    project.push_str("  </module>\n</project>\n");
    let work = classes.parent().ok_or("bad path")?;
    let project_file = work.join("lint-project.xml");
    std::fs::write(&project_file, project).map_err(|e| e.to_string())?;
    let sdk = work.join("no-sdk");
    std::fs::create_dir_all(&sdk).map_err(|e| e.to_string())?;
    let report = work.join("lint.txt");
    let status = Command::new("java")
        .arg("-cp")
        .arg(format!("{}/*", lint_dir.display()))
        .args([
            "com.android.tools.lint.Main",
            "--offline",
            "--exitcode",
            "--project",
        ])
        .arg(&project_file)
        .arg("--sdk-home")
        .arg(&sdk)
        .arg("--text")
        .arg(&report)
        .current_dir(work)
        .status()
        .map_err(|e| format!("cannot run lint: {e}"))?;
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    print!("{text}");
    let summary = text.lines().last().unwrap_or("no report").to_string();
    println!("lint: {summary} (report: {})", report.display());
    if status.success() {
        Ok(())
    } else {
        Err(format!("Android Lint found errors: {summary}"))
    }
}

fn kotlin_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            kotlin_files(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "kt") {
            out.push(path);
        }
    }
    Ok(())
}

const LINT_POM: &str = r#"<project xmlns="http://maven.apache.org/POM/4.0.0">
  <!-- Written by cargo xtask android: Android Lint from Maven Central. -->
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.palmkit.tools</groupId>
  <artifactId>android-lint</artifactId>
  <version>1</version>
  <dependencies>
    <dependency><groupId>com.android.tools.lint</groupId><artifactId>lint</artifactId><version>32.5.1</version></dependency>
    <dependency><groupId>com.android.tools.lint</groupId><artifactId>lint-checks</artifactId><version>32.5.1</version></dependency>
  </dependencies>
</project>
"#;
