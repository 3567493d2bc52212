import SignalingService
import ServiceKit

try await ServiceMain.run(SignalingService.definition)
