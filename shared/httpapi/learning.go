package httpapi

import "net/http"

// getLearning serves GET /v1/learning/{provider}: what the learner knows
// about a provider's prompt modifiers (app.LearningReport).
func (s *Service) getLearning(w http.ResponseWriter, r *http.Request, _ string) {
	rep, err := s.App.Learning(r.Context(), r.PathValue("provider"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
