import Foundation
import HTTPTypes

/// How a charge point opens its OCPP 1.6J WebSocket: `ws://host/ocpp/<chargePointId>`, subprotocol
/// `ocpp1.6`, HTTP Basic credentials (security profile 1: user = chargePointId, password = the pile's).
public enum OCPPHandshake {
    public static let subprotocol = "ocpp1.6"

    /// `ws://host:port/ocpp/<id>` (or `wss://` for an `https` base); the id percent-encoded as a path segment.
    public static func webSocketURL(baseURL: String, chargePointID: String) throws -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        guard var components = URLComponents(string: base), components.scheme == "http" || components.scheme == "https",
              components.host != nil
        else {
            throw PileSimulatorError.invalidBaseURL(baseURL)
        }
        components.scheme = components.scheme == "https" ? "wss" : "ws"
        var segment = CharacterSet.urlPathAllowed
        segment.remove(charactersIn: "/;?#%")
        let encoded = chargePointID.addingPercentEncoding(withAllowedCharacters: segment) ?? chargePointID
        components.percentEncodedPath = components.percentEncodedPath + "/ocpp/" + encoded
        guard let url = components.string else { throw PileSimulatorError.invalidBaseURL(baseURL) }
        return url
    }

    /// `Basic base64(chargePointId:password)`.
    public static func authorization(chargePointID: String, password: String) -> String {
        "Basic " + Data("\(chargePointID):\(password)".utf8).base64EncodedString()
    }

    /// The upgrade request's extra headers: `Sec-WebSocket-Protocol: ocpp1.6` and `Authorization`.
    public static func headers(chargePointID: String, password: String) -> HTTPFields {
        var fields = HTTPFields()
        fields[.secWebSocketProtocol] = subprotocol
        fields[.authorization] = authorization(chargePointID: chargePointID, password: password)
        return fields
    }
}
