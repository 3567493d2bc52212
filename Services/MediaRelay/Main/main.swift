import MediaRelayService
import ServiceKit

try await ServiceMain.run(MediaRelayService.definition)
