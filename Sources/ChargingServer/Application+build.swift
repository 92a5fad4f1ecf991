import ChargingDomain
import ChargingStore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import PileProtocol
import PileRouting
import PostgresClient
import ServiceLifecycle

/// Builds one chargepile instance: migrations applied, routes, the pile hub, and the
/// services that keep it in step with the others (listener, heartbeat, station ticker).
/// `serve` and the tests both call it.
public func buildApplication(
    configuration: ServerConfiguration, databaseURL: String, logger: Logger, drain: PileDrain? = nil
) async throws -> some ApplicationProtocol {
    let pool = PostgresPool(conninfo: databaseURL, overrides: ["application_name": "chargepile"], maxConnections: configuration.databaseConnections, acquireTimeout: configuration.databaseAcquireTimeout, logger: logger)
    try await SchemaMigrator().migrate(pool)
    for line in try await configuration.firstStart.run(pool: pool, hasher: configuration.passwordHasher, clock: configuration.clock) {
        // Written at once (not buffered): the operator must see generated passwords even if the process dies.
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
    let stationStore = StationStore(pool: pool)
    if let clock = configuration.clock {
        for stationID in try await stationStore.stationIDs() {
            try await stationStore.setClock(stationID: stationID, mode: clock.mode, speed: clock.speed, start: clock.start)
        }
    }

    let instance = configuration.instanceID
    let hub = PileHub()
    drain?.hub = hub
    let tokens = TokenService(store: TokenStore(pool: pool), lifetime: configuration.tokenLifetime)
    let accounts = AccountStore(pool: pool)
    let piles = PileStore(pool: pool)
    let stations = StationService(
        store: stationStore, offlineGrace: configuration.offlineGrace,
        statusChangeLimit: configuration.statusChangeLimit, statusChangeWindow: configuration.statusChangeWindow, logger: logger)
    let pileStates = PileStates(store: PileStateStore(pool: pool, instance: instance, tellPreviousOwner: PileOwnership.replacedNotice), stations: stations)
    let delivery = CommandDelivery(pool: pool, instance: instance, sockets: hub, logger: logger, statusWritten: pileStates.hear,
                                   instructionFinished: { await stations.instructionFinished(pileID: $0, instruction: $1, outcome: $2) })
    let hasher = configuration.passwordHasher

    let authStore = AuthStore(pool: pool)
    let login = LoginServices(tokens: tokens, hasher: hasher, guardian: LoginGuard(store: authStore, defence: configuration.loginDefence),
                              audit: AuthAudit(store: authStore, instance: instance, logger: logger))
    let socketTokens = PileTokenRegistry()

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: ResponseHeadersMiddleware())
    router.add(middleware: ClientAddressMiddleware(trustedProxies: configuration.trustedProxies))
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: CORSOriginsMiddleware(origins: configuration.corsOrigins))
    router.add(middleware: APIErrorMiddleware())
    // Each role's routes are in a group whose middleware checks the token (`router.authenticated`).
    AdminController(accounts: accounts, piles: piles, tokens: tokens, login: login, delivery: delivery, stations: stations,
                    commandTimeout: configuration.commandTimeout).addRoutes(to: router)
    let lifecycle = PileSocketLifecycle(pileStates: pileStates, hub: hub)
    let admission = PileAdmission(rate: configuration.admissionRate)
    let pileController = PileController(piles: piles, tokens: tokens, login: login, pileStates: pileStates, lifecycle: lifecycle,
                                        commands: PileCommandLog(pool: pool), stations: stations, socketTokens: socketTokens,
                                        powerAcknowledgements: PowerLimitAcknowledgements(), admission: admission)
    pileController.addRoutes(to: router)
    let ocppStore = OCPPStore(pool: pool)
    let ocppController = OCPPController(
        services: OCPPServices(store: ocppStore, pileStates: pileStates, lifecycle: lifecycle, stations: stations, commands: PileCommandLog(pool: pool),
                               credentials: ChargePointCredentials(hasher: hasher, store: ocppStore), callTimeout: configuration.ocppCallTimeout,
                               busyDeadline: configuration.ocppBusyDeadline, heartbeatInterval: configuration.ocppHeartbeatInterval,
                               dataTransferVendor: configuration.ocppDataTransferVendor, admission: admission,
                               supply: configuration.ocppSupply,
                               delivery: delivery, certificateAuthority: configuration.ocppCertificateAuthority,
                               reservations: ReservationStore(pool: pool)),
        login: login, trustedProxies: configuration.trustedProxies,
        tlsTrust: ProxyTLSTrust(headersSet: configuration.proxyTLSHeaders, proxies: configuration.trustedProxies), tokens: tokens, delivery: delivery,
        commandTimeout: configuration.commandTimeout)
    ocppController.addRoutes(to: router)
    let operations = OCPPOperationStore(pool: pool)
    let localLists = LocalListStore(pool: pool)
    OCPPOperationsController(store: operations, localLists: localLists, tokens: tokens).addRoutes(to: router)
    ReservationsController(reservations: ReservationStore(pool: pool), stations: stations, tokens: tokens).addRoutes(to: router)
    let bills = BillStore(pool: pool)
    DriverController(accounts: accounts, bills: bills, tokens: tokens, login: login,
                     stations: stations).addRoutes(to: router)
    OperationsController(pool: pool, metricsClients: configuration.metricsClients).addRoutes(to: router)

    // What other instances and DBAs see: behind a wildcard bind, the host name tells containers apart.
    let advertisedHost = configuration.host == "0.0.0.0" || configuration.host == "::" ? ProcessInfo.processInfo.hostName : configuration.host
    let address = "\(advertisedHost):\(configuration.port)"
    let consoleEvents = ConsoleEvents()
    ConsoleController(store: ConsoleStore(pool: pool), bills: bills, directory: stationStore.directory, tokens: tokens, login: login, events: consoleEvents, instanceAddress: address)
        .addRoutes(to: router)
    // Heartbeats and ownership sweeps keep connections of their own, like the listener: a storm of
    // pile reconnects queueing on the main pool must not make the peers take this instance for dead.
    let controlPool = PostgresPool(conninfo: databaseURL, overrides: ["application_name": "chargepile-control"], maxConnections: 2,
                                   logger: logger)
    let listener = PostgresListener(conninfo: databaseURL, overrides: ["application_name": "chargepile-listener"], logger: logger)
    return Application(
        router: router,
        server: HTTPServerBuilder { responder in
            PileSocketChannel(responder: responder, acceptors: [pileController, ocppController], settings: .init(
                maxMessageSize: PileProtocolLimits.maxMessageSize, pingInterval: configuration.pingInterval,
                writeTimeout: configuration.commandTimeout, idleTimeout: configuration.idleTimeout,
                maxConnections: configuration.maxConnections))
        },
        // A reconnect storm is thousands of connects within a second: a short accept queue drops their SYNs and
        // they time out at the proxy (the kernel caps this at net.core.somaxconn).
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "chargepile", backlog: 4096),
        services: [
            PoolService(pool: pool),
            PoolService(pool: controlPool),
            RoutingService(listener: listener, channel: instanceChannel(instance), delivery: delivery, hub: hub, logger: logger),
            InstanceService(registry: InstanceRegistry(pool: controlPool, instance: instance),
                            pileStates: PileStates(store: PileStateStore(pool: controlPool, instance: instance, tellPreviousOwner: PileOwnership.replacedNotice), stations: stations), hub: hub, address: address, heartbeatInterval: configuration.heartbeatInterval,
                            instanceExpiry: configuration.instanceExpiry, logger: logger),
            StationTicker(stations: stations, interval: configuration.tickInterval, logger: logger),
            OCPPOperationsService(store: operations, delivery: delivery, interval: configuration.ocppOperationInterval,
                                  callTimeout: configuration.ocppCallTimeout, logger: logger),
            LocalListService(store: localLists, delivery: delivery, interval: configuration.ocppOperationInterval,
                             callTimeout: configuration.ocppCallTimeout, logger: logger, enabled: configuration.ocppLocalListSync),
            SessionMaintenanceService(tokens: tokens, authStore: authStore, registry: socketTokens,
                                      tokenCheckInterval: configuration.tokenCheckInterval, purgeInterval: configuration.tokenPurgeInterval,
                                      counterRetention: max(configuration.loginDefence.window, configuration.loginDefence.lockout,
                                                            configuration.loginDefence.registrationWindow),
                                      logger: logger),
            ConsoleEventService(store: ConsoleStore(pool: pool), events: consoleEvents, pollInterval: configuration.consolePoll,
                                keepaliveInterval: configuration.consoleKeepalive, logger: logger),
        ],
        logger: logger)
}

/// Keeps the pool open while the application runs and closes it last.
struct PoolService: Service {
    let pool: PostgresPool

    func run() async throws {
        try? await gracefulShutdown()
        await pool.close()
    }
}
