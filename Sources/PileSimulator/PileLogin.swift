import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `POST /p/login`: trades a pile's id and password for a pile token.
public enum PileLogin {
    /// More connections to one server than `URLSession.shared`'s six, for fleets of thousands logging in together.
    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.default
        configuration.httpMaximumConnectionsPerHost = 64
        return URLSession(configuration: configuration)
    }()

    public static func token(baseURL: String, pileID: Int, password: String) async throws -> String {
        var request = URLRequest(url: try endpoint(baseURL: baseURL, path: "/p/login"))
        request.httpMethod = "POST"
        request.timeoutInterval = 10
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data("id=\(pileID)&password=\(formEncoded(password))".utf8)

        let (body, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard let reply = try? JSONDecoder().decode(Reply.self, from: body) else {
            throw PileSimulatorError.unexpectedLoginResponse(status: status, body: String(decoding: body, as: UTF8.self))
        }
        if reply.code == 200, let token = reply.token {
            return token
        }
        if reply.code == 200 {
            throw PileSimulatorError.unexpectedLoginResponse(status: status, body: String(decoding: body, as: UTF8.self))
        }
        if let seconds = reply.retryAfter, seconds >= 0 {
            throw PileSimulatorError.loginRetry(afterSeconds: seconds)
        }
        throw PileSimulatorError.loginRefused(reply.msg ?? "code \(reply.code)")
    }

    /// `ws://host:port/p/ws?token=…` (or `wss://` for an `https` base).
    static func webSocketURL(baseURL: String, token: String) throws -> String {
        guard var components = URLComponents(string: try endpoint(baseURL: baseURL, path: "/p/ws").absoluteString) else {
            throw PileSimulatorError.invalidBaseURL(baseURL)
        }
        components.scheme = components.scheme == "https" ? "wss" : "ws"
        components.percentEncodedQuery = "token=\(formEncoded(token))"
        guard let url = components.string else { throw PileSimulatorError.invalidBaseURL(baseURL) }
        return url
    }

    private static func endpoint(baseURL: String, path: String) throws -> URL {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base + path), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw PileSimulatorError.invalidBaseURL(baseURL)
        }
        return url
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters, so `+`, `&` and `=` survive form decoding.
    private static func formEncoded(_ value: String) -> String {
        var unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        unreserved.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    private struct Reply: Decodable {
        var code: Int
        var msg: String?
        var token: String?
        var retryAfter: Int?

        enum CodingKeys: String, CodingKey {
            case code, msg, token
            case retryAfter = "retry_after"
        }
    }
}
