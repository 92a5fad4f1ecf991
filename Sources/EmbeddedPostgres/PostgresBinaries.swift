import Foundation

/// Finds a PostgreSQL installation's programs: on PATH, else the newest
/// /usr/lib/postgresql/<version>/bin (Debian keeps the server programs there).
public enum PostgresBinaries {
    static let serverPrograms = ["initdb", "pg_ctl", "postgres"]

    /// The directory holding initdb, pg_ctl and postgres.
    public static func directory() throws -> String {
        for directory in candidateDirectories() where serverPrograms.allSatisfy({ isExecutable(directory, $0) }) {
            return directory
        }
        throw EmbeddedPostgresError(
            "PostgreSQL server programs (initdb, pg_ctl, postgres) were not found on PATH nor in "
                + "/usr/lib/postgresql/*/bin; install them with: apt-get install -y postgresql")
    }

    /// The path of one program (psql, pgbench, …), preferring the server's directory.
    public static func path(of program: String) throws -> String {
        var directories = candidateDirectories()
        if let server = try? directory() { directories.insert(server, at: 0) }
        for directory in directories where isExecutable(directory, program) {
            return directory + "/" + program
        }
        throw EmbeddedPostgresError(
            "\(program) was not found on PATH nor in /usr/lib/postgresql/*/bin; "
                + "install it with: apt-get install -y postgresql")
    }

    private static func candidateDirectories() -> [String] {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        var directories = path.split(separator: ":").map(String.init)
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        let newestFirst = versions.sorted { (Double($0) ?? 0) > (Double($1) ?? 0) }
        directories += newestFirst.map { "\(root)/\($0)/bin" }
        directories.append("/usr/local/pgsql/bin")
        return directories
    }

    private static func isExecutable(_ directory: String, _ program: String) -> Bool {
        FileManager.default.isExecutableFile(atPath: directory + "/" + program)
    }

    /// Runs a PostgreSQL program (psql, pgbench, …) to completion as the current user and
    /// returns its combined output; a non-zero exit throws with that output.
    /// Blocks: call it off Swift's cooperative pool.
    public static func run(_ program: String, _ arguments: [String]) throws -> String {
        let executable = program.contains("/") ? program : try path(of: program)
        let output = try CommandRunner().run(executable, arguments)
        guard output.succeeded else {
            throw EmbeddedPostgresError("\(program) exited with status \(output.status):\n\(output.text)")
        }
        return output.text
    }
}
