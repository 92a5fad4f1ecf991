import Foundation
import Hummingbird

/// The envelope of every API answer: `code` 200 or -1, a Chinese `msg`, and a `token` or `data`.
struct APIResponse<Payload: Encodable & Sendable>: ResponseGenerator, Encodable, Sendable {
    var code: Int
    var msg: String
    var token: String?
    var data: Payload?

    private enum CodingKeys: String, CodingKey { case code, msg, token, data }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encode(msg, forKey: .msg)
        try container.encodeIfPresent(token, forKey: .token)
        try container.encodeIfPresent(data, forKey: .data)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: try json()))
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
    static func failure(_ error: APIError) -> APIResponse { APIResponse(code: -1, msg: error.message) }
}
