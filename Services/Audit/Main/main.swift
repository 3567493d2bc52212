import AuditService
import ServiceKit

try await ServiceMain.run(AuditService.definition)
