// The tokens and the non-biometric progress in the keychain: generic passwords of this
// app's service, readable only while the phone is unlocked and never restored to another
// device (kSecAttrAccessibleWhenUnlockedThisDeviceOnly). The core never hands this store an
// image.

#if canImport(Security)
import Foundation
import PalmKit
import Security

public final class KeychainSecureStore: SecureStore, @unchecked Sendable {
    private let service: String

    public init(service: String = "com.palmkit.app.session") {
        self.service = service
    }

    private func query(_ key: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: key,
        ]
    }

    private func failure(_ what: String, _ status: OSStatus) -> SecureStoreError {
        let text = SecCopyErrorMessageString(status, nil) as String? ?? "OSStatus \(status)"
        return SecureStoreError.Failed(reason: "keychain \(what): \(text)")
    }

    public func load(key: String) throws -> String? {
        var q = query(key)
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(q as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let data = item as? Data, let text = String(data: data, encoding: .utf8) else {
                throw SecureStoreError.Failed(reason: "keychain item \(key) is not text")
            }
            return text
        case errSecItemNotFound: return nil
        default: throw failure("read", status)
        }
    }

    public func save(key: String, secret: String) throws {
        let data = Data(secret.utf8)
        let update: [String: Any] = [
            kSecValueData as String: data,
            kSecAttrAccessible as String: kSecAttrAccessibleWhenUnlockedThisDeviceOnly,
        ]
        var status = SecItemUpdate(query(key) as CFDictionary, update as CFDictionary)
        if status == errSecItemNotFound {
            var add = query(key)
            add.merge(update) { $1 }
            status = SecItemAdd(add as CFDictionary, nil)
        }
        guard status == errSecSuccess else { throw failure("write", status) }
    }

    public func delete(key: String) throws {
        let status = SecItemDelete(query(key) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw failure("delete", status) }
    }
}
#endif
