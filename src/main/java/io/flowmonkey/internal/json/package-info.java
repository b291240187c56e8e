/**
 * Internal, not API: the deep-immutable JSON values of the execution model and the Jackson module
 * that reads JSON straight into them. Public only so that the model and the stores in other packages
 * can reach them; any class or member here may change or disappear in any release.
 */
package io.flowmonkey.internal.json;
