export { dashboardRoutes, type DashboardOptions } from './routes.js';
export { Sessions, SESSION_COOKIE, CSRF_HEADER, type SessionOptions } from './session.js';
export { KubeClusterSource, clusterSnapshot, type ClusterSource, type ClusterSnapshot } from './cluster.js';
export { libraryPlanner, type Planner } from './plan.js';
