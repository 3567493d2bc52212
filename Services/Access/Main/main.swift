import AccessService
import ServiceKit

try await ServiceMain.run(AccessService.definition)
