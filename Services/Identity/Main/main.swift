import IdentityService
import ServiceKit

try await ServiceMain.run(IdentityService.definition)
