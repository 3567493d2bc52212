import InferenceService
import ServiceKit

try await ServiceMain.run(InferenceService.definition)
