import ServiceKit
import SignalingService

try await ServiceMain.run(SignalingService.definition)
