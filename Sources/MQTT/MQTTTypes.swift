/// Where and how the client connects. Files are read by libmosquitto (OpenSSL) at `MQTTClient.init`.
public struct MQTTClientOptions: Sendable, Equatable {
    public struct TLS: Sendable, Equatable {
        /// PEM file of the certificate authorities the broker's certificate must chain to.
        public var caFile: String
        /// PEM client certificate and key for mutual TLS (AWS IoT Core); both or neither.
        public var certFile: String?
        public var keyFile: String?

        public init(caFile: String, certFile: String? = nil, keyFile: String? = nil) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
        }
    }

    public var host: String
    public var port: Int
    public var clientID: String
    /// Seconds between PINGREQs; the broker drops us (and sends the will) after 1.5 times this in silence.
    public var keepalive: Int
    /// nil: plain TCP (`mqtt://`).
    public var tls: TLS?
    public var username: String?
    public var password: String?
    /// The last will, registered before CONNECT: the broker publishes it when we vanish without DISCONNECT.
    public var will: MQTTOutgoingMessage?

    public init(host: String, port: Int, clientID: String, keepalive: Int = 60, tls: TLS? = nil,
                username: String? = nil, password: String? = nil, will: MQTTOutgoingMessage? = nil) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.keepalive = keepalive
        self.tls = tls
        self.username = username
        self.password = password
        self.will = will
    }
}

/// MQTT quality of service; QoS 2 is left out (AWS IoT Core does not support it).
public enum MQTTQoS: Int32, Sendable, Equatable {
    case atMostOnce = 0
    case atLeastOnce = 1
}

/// A message to publish (also the last will).
public struct MQTTOutgoingMessage: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: MQTTQoS
    public var retain: Bool

    public init(topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }
}

/// A message the broker delivered on a subscription.
public struct MQTTMessage: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int32
    public var retain: Bool
    /// The MQTT 5 user properties (name, value) in the order they came. Whoever published set them: the broker
    /// forwards them and vouches for none of them.
    public var userProperties: [UserProperty]

    public struct UserProperty: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(topic: String, payload: [UInt8], qos: Int32, retain: Bool, userProperties: [UserProperty] = []) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.userProperties = userProperties
    }
}

/// What the connection is doing, as the network loop sees it.
public enum MQTTConnectionState: Sendable, Equatable {
    /// TCP, TLS and CONNECT under way.
    case connecting
    /// CONNACK accepted.
    case connected
    /// The loop stopped: nil after `disconnect()`, else why.
    case disconnected(MQTTError?)
}
