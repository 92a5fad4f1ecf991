import Foundation
import Hummingbird

/// The envelope of every API answer: `code` 200 or -1, a Chinese `msg`, and a `token` or `data`.
struct APIResponse<Payload: Encodable & Sendable>: ResponseGenerator, Encodable, Sendable {
    var code: Int
    var msg: String
    var token: String?
    var data: Payload?
    /// Seconds to wait before trying again, on a `-1` that asks for it.
    var retryAfter: Int?

    private enum CodingKeys: String, CodingKey {
        case code, msg, token, data
        case retryAfter = "retry_after"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encode(msg, forKey: .msg)
        try container.encodeIfPresent(token, forKey: .token)
        try container.encodeIfPresent(data, forKey: .data)
        try container.encodeIfPresent(retryAfter, forKey: .retryAfter)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: try json()))
    }

    func json() throws -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return ByteBuffer(bytes: try encoder.encode(self))
    }
}

/// Stands in for `data` where an answer has none.
struct NoPayload: Encodable, Sendable {}

extension APIResponse {
    static func success(_ msg: String, data: Payload) -> APIResponse { APIResponse(code: 200, msg: msg, data: data) }
}

extension APIResponse where Payload == NoPayload {
    static func success(_ msg: String) -> APIResponse { APIResponse(code: 200, msg: msg) }
    static func success(_ msg: String, token: String) -> APIResponse { APIResponse(code: 200, msg: msg, token: token) }
    static func failure(_ error: APIError) -> APIResponse { APIResponse(code: -1, msg: error.message, retryAfter: error.retryAfterSeconds) }
}
