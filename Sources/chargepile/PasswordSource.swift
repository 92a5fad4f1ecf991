import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where a command reads a password, never from its own command line (where `ps` and shell
/// history would show it): `--password-file FILE` (`-`: standard input), else an environment
/// variable, else a prompt on the terminal.
struct PasswordSource: ParsableArguments {
    @Option(name: .customLong("password-file"), help: "Read the password from the first line of this file (-: standard input).")
    var passwordFile: String?

    func read(environment variable: String, prompt: String, otherwise: String = "") throws -> String {
        let password: String
        if let given = try given(environment: variable) {
            password = given
        } else if isatty(STDIN_FILENO) != 0, let typed = getpass(prompt) {
            password = String(cString: typed)
        } else {
            throw ValidationError("give --password-file FILE (- for standard input) or set \(variable)\(otherwise)")
        }
        guard !password.isEmpty else { throw ValidationError("the password is empty") }
        return password
    }

    /// The password of `--password-file` or the environment variable, nil when neither is given.
    func given(environment variable: String) throws -> String? {
        if let passwordFile {
            let data = passwordFile == "-" ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: passwordFile))
            let password = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !password.isEmpty else { throw ValidationError("the password is empty") }
            return password
        }
        if let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty { return value }
        return nil
    }
}
