import ArgumentParser
import Foundation
import Zoo

/// `ssmsam zoo keygen`: a publisher's Ed25519 key pair.
struct ZooKeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keygen", abstract: "Make an Ed25519 signing key: KEY (private, mode 0600) and KEY.pub.",
        discussion: """
            Example:
              ssmsam zoo keygen --name my-lab --out my-lab.key
            """)

    @Option(help: "The signer's name, recorded in signatures.") var name: String
    @Option(help: "The private key file to write (KEY.pub is written beside it).") var out: String

    func run() throws {
        try CLIErrors.report {
            let key = SigningKey(name: name)
            try key.write(to: URL(fileURLWithPath: out))
            print("wrote \(out) (private, keep it) and \(out).pub (give it to those who trust you); key id \(key.publicKey.id)")
        }
    }
}

/// `ssmsam zoo sign`: signs a package folder's manifest.
struct ZooSignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign", abstract: "Sign a package folder: signature.json, an Ed25519 signature of its manifest.json (which hashes every file).",
        discussion: """
            Example:
              ssmsam zoo sign PACKAGE_DIR --key my-lab.key
            """)

    @Argument(help: "A package folder.") var package: String
    @Option(help: "The private key (zoo keygen).") var key: String

    func run() throws {
        try CLIErrors.report {
            let dir = URL(fileURLWithPath: package)
            _ = try ZooPackage.read(dir)
            let k = try SigningKey.read(URL(fileURLWithPath: key))
            try ManifestSignature.sign(package: dir, key: k)
            print("signed \(package) as \(k.name) (key \(k.publicKey.id))")
        }
    }
}

/// `ssmsam zoo trust`: adds a publisher's public key to the registry's trusted keys, or sets the policy.
struct ZooTrustCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust", abstract: "Trust a publisher's public key (KEY.pub) in the registry; --require-signature makes every install strict.",
        discussion: """
            Examples:
              ssmsam zoo trust zoo/keys/ssmsam-project.pub
              ssmsam zoo trust my-lab.key.pub --require-signature
            """)

    @Argument(help: "A public key file (KEY.pub from zoo keygen).") var publicKey: String?
    @Flag(inversion: .prefixedNo, help: "Install only packages signed by a trusted key (the strict policy for every command).") var requireSignature: Bool?
    @OptionGroup var registryOptions: RegistryOptions

    func run() throws {
        try CLIErrors.report {
            guard publicKey != nil || requireSignature != nil else { throw ValidationError("give a KEY.pub, --require-signature or --no-require-signature") }
            let key = try publicKey.map { try TrustedKey.read(URL(fileURLWithPath: $0)) }
            let registry = registryOptions.open()
            let c = try registry.trust(key, requireSignature: requireSignature)
            if let key { print("trusting \(key.name) (key \(key.id)) in \(registry.root.path)") }
            print("trusted keys: \(c.trustedKeys.map { "\($0.name) (\($0.id))" }.joined(separator: ", ")); signatures required: \(c.requireSignature ? "yes" : "no")")
        }
    }
}
